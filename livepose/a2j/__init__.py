"""The A2J network: model, anchors, decoding, losses and official-weight loading."""

from livepose.a2j.model import A2J, A2JConfig, A2JHeads, A2JOutput
from livepose.a2j.official import load_official

__all__ = ["A2J", "A2JConfig", "A2JHeads", "A2JOutput", "load_official"]
