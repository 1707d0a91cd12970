"""A picture of synthetic frames: depth with the skeleton drawn, in a grid (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from livepose.skeletons import get_layout


def preview_grid(depth_mm: np.ndarray, joints_uvd: np.ndarray, layout: str, path: str | Path, columns: int = 4,
                 zoom_mm: float | None = 160.0, title: str = "") -> Path:
    """Draw frames (N, H, W) in mm with their joints (N, J, 3) as a grid PNG.

    ``zoom_mm``: show +-zoom_mm around the joints' centre (hands); None shows the whole frame.
    Invalid pixels (0) are black; depth is coloured near to far within each panel.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    skeleton = get_layout(layout)
    count = len(depth_mm)
    rows = (count + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(count):
        ax = axes.flat[i]
        depth = depth_mm[i]
        joints = joints_uvd[i]
        valid = depth > 0
        near, far = (np.percentile(depth[valid], [1, 99]) if valid.any() else (0.0, 1.0))
        limits = ((-0.5, depth.shape[1] - 0.5), (depth.shape[0] - 0.5, -0.5))
        if zoom_mm is not None:
            centre = joints.mean(0)
            half = zoom_mm * 500.0 / max(centre[2], 1.0) * (depth.shape[1] / 640.0) * 1.2
            near, far = centre[2] - 150, centre[2] + 250
            limits = ((centre[0] - half, centre[0] + half), (centre[1] + half, centre[1] - half))
        shown = np.ma.masked_where(~valid, depth)
        cmap = plt.get_cmap("viridis").copy()
        cmap.set_bad("black")
        ax.imshow(shown, cmap=cmap, vmin=near, vmax=far, interpolation="nearest")
        for (a, b), colour in zip(skeleton.bones, skeleton.bone_colours, strict=True):
            ax.plot([joints[a, 0], joints[b, 0]], [joints[a, 1], joints[b, 1]], color=np.array(colour) / 255,
                    linewidth=1.5)
        ax.scatter(joints[:, 0], joints[:, 1], s=6, c="white", zorder=3)
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
