"""The benchmark report as text tables (stdout of ``livepose bench``). Pure functions, any thread."""

from __future__ import annotations


def _stage(entry: dict, key: str) -> str:
    value = entry.get("stage_ms", {}).get(key)
    return f"{value:.2f}" if isinstance(value, (int, float)) else "-"


def format_report(report: dict) -> str:
    """Devices, the timing rows, speedups, parity and the engine ladder, as aligned text."""
    lines = []
    for device, name in report["devices"].items():
        lines.append(f"device {device}: {name}")
    env = report["environment"]
    lines.append(f"load average at start {env.get('load_average_start')}, end {env.get('load_average_end')} "
                 "(other work on the machine slows every row)")
    lines.append("")
    header = (f"{'model':<10} {'path':<12} {'device':<7} {'prec':<5} {'batch':>5} {'FPS':>9} {'p50 ms':>9} "
              f"{'p99 ms':>9} {'read/crop':>9} {'network':>9} {'dec/uncrop':>10}")
    lines.append(header)
    lines.append("-" * len(header))
    for section in ("results", "reference", "eager_fp32"):
        for entry in report[section]:
            path = entry["backend"] if section != "eager_fp32" else "eager-net"
            fps = f"{entry['fps']:.1f}" if entry["fps"] else "-"
            lines.append(f"{entry['model']:<10} {path:<12} {entry['device']:<7} {entry['precision']:<5} "
                         f"{entry['batch']:>5} {fps:>9} {entry['p50_ms']:>9.2f} {entry['p99_ms']:>9.2f} "
                         f"{_stage(entry, 'read_crop'):>9} {_stage(entry, 'network'):>9} "
                         f"{_stage(entry, 'decode_uncrop'):>10}")
    lines.append("")
    for entry in report["speedup_vs_reference"]:
        lines.append(f"speedup {entry['model']} on {entry['device']}: {entry['backend']} {entry['precision']} "
                     f"{entry['fps']:.1f} FPS vs reference {entry['reference_fps']:.1f} FPS = {entry['speedup']:.2f}x "
                     "(batch 1)")
    for entry in report["parity"]:
        verdict = "agrees" if entry["ok"] else "DIFFERS"
        lines.append(f"parity {entry['model']} {entry['backend']} {entry['precision']} {entry['device']}: max "
                     f"{entry['max_error_mm']:.4f} mm, mean {entry['mean_error_mm']:.4f} mm over {entry['frames']} "
                     f"frames (synthetic {entry['synthetic_max_mm']}, real {entry['real_max_mm']}): {verdict}")
    for entry in report.get("int8") or []:
        for rung in entry["rows"]:
            lines.append(f"int8 {entry['model']} onnxruntime cpu batch {rung['batch']}: {rung['fps']} FPS, p50 "
                         f"{rung['p50_ms']} ms")
        accuracy = entry["accuracy_vs_fp32_eager"]
        lines.append(f"int8 {entry['model']}: {entry['speedup_vs_onnxruntime_fp32']}x ONNX Runtime fp32 at batch 1; "
                     f"joints move by up to {accuracy['max_error_mm']:.2f} mm "
                     f"(mean {accuracy['mean_error_mm']:.2f} mm) from fp32 eager")
    for entry in report.get("engine") or []:
        lines.append(f"engine {entry['model']} {entry['backend']} {entry['precision']} {entry['device']}: sustains "
                     f"{entry['sustained_fps']:g} FPS input without drops; latency p50 {entry['latency_p50_ms']} ms, "
                     f"p99 {entry['latency_p99_ms']} ms")
        for rung in entry["rates"]:
            lines.append(f"    {rung['fps_in']:>6g} FPS in: {rung['processed']} of {rung['captured']} processed, "
                         f"dropped {rung['dropped']}, source skipped {rung['source_skipped']}, latency p50 "
                         f"{rung['latency_p50_ms']} p99 {rung['latency_p99_ms']} ms")
    for entry in report.get("training_data") or []:
        lines.append(f"training data {entry['kind']} on {entry['device']} (batch {entry['batch']}, "
                     f"{entry['input_size']} px, {entry['backbone']}): renders {entry['render_crops_per_s']:.1f} "
                     f"crops/s, trains {entry['train_crops_per_s']:.1f} crops/s = {entry['render_over_train']:.2f}x")
    for what, why in report.get("not_measured", {}).items():
        lines.append(f"not measured: {what}: {why}")
    for note in report.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"
