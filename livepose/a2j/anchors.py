"""The A2J anchor grid and the decoding of the three heads into joints.

Anchors sit every 4 pixels of the network input: 16 per 16x16 feature cell,
at offsets 2, 6, 10, 14 pixels in each direction. Their order is the official
code's output order::

    index = (column_cell * rows + row_cell) * 16 + row_offset_index * 4 + column_offset_index

(the official heads permute their output to (B, W, H, C) before flattening).
Anchor positions are stored as (row, column) pixel pairs, like the official
code; decoded joints are returned as (u, v[, depth]) = (column, row, depth).

Functions here are pure and may be called from any thread.
"""

from __future__ import annotations

import torch

ANCHOR_STRIDE = 16
ANCHOR_OFFSETS = (2.0, 6.0, 10.0, 14.0)
ANCHORS_PER_CELL = len(ANCHOR_OFFSETS) ** 2


def anchor_grid(rows: int, cols: int, device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Anchor positions for a feature map of ``rows`` x ``cols`` cells.

    Returns:
        (cols * rows * 16, 2) tensor of (row, column) positions in input pixels,
        in the official output order described in the module docstring.
    """
    offsets = torch.tensor(ANCHOR_OFFSETS, dtype=dtype, device=device)
    cell_rows = torch.arange(rows, dtype=dtype, device=device) * ANCHOR_STRIDE
    cell_cols = torch.arange(cols, dtype=dtype, device=device) * ANCHOR_STRIDE
    # Axes: column cell, row cell, row offset, column offset.
    row = cell_rows[None, :, None, None] + offsets[None, None, :, None]
    col = cell_cols[:, None, None, None] + offsets[None, None, None, :]
    shape = (cols, rows, len(ANCHOR_OFFSETS), len(ANCHOR_OFFSETS))
    return torch.stack((row.expand(shape), col.expand(shape)), dim=-1).reshape(-1, 2)


def decode(classification: torch.Tensor, offsets: torch.Tensor, depth: torch.Tensor | None,
           anchors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn the three heads into joints: a softmax-weighted vote of all anchors.

    Args:
        classification: (B, A, J) anchor logits.
        offsets: (B, A, J, 2) in-plane offsets from each anchor, (row, column) in pixels.
        depth: (B, A, J) depth predictions in the network's depth unit, or None (2D model).
        anchors: (A, 2) anchor positions, (row, column) in pixels.

    Returns:
        joints: (B, J, 3) u (column px), v (row px), depth; or (B, J, 2) without depth.
        weights: (B, A, J) the softmax anchor weights (they sum to 1 over A).
    """
    weights = torch.softmax(classification, dim=1)
    position = anchors[None, :, None, :] + offsets  # (B, A, J, 2) as (row, column)
    row_col = (weights.unsqueeze(-1) * position).sum(dim=1)  # (B, J, 2)
    columns = [row_col[..., 1], row_col[..., 0]]
    if depth is not None:
        columns.append((weights * depth).sum(dim=1))
    return torch.stack(columns, dim=-1), weights
