"""Real datasets in their published layouts (NYU, ICVL, HANDS2017, ITOP) and their training crops.

>>> frames = open_dataset("nyu", "/data/nyu_hand_dataset_v2", split="train")   # doctest: +SKIP
>>> image, target = RealCrops(frames)[0]                                      # doctest: +SKIP
"""

from livepose.datasets.base import DATASET_NAMES, LabelledFrame, LabelledFrames, open_dataset
from livepose.datasets.crops import BODY_BOX_MARGIN_MM, RealCrops, frame_to_crop

__all__ = ["BODY_BOX_MARGIN_MM", "DATASET_NAMES", "LabelledFrame", "LabelledFrames", "RealCrops", "frame_to_crop",
           "open_dataset"]
