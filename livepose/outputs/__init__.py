"""Where results go: JSON lines (:mod:`.jsonl`, raw joints), and streams to other programs, smoothed with
the One Euro filter (:mod:`.smoothing`): OSC (:mod:`.osc`), WebSocket (:mod:`.websocket`) and Lab Streaming
Layer (:mod:`.lsl`), started together by :mod:`.streaming`."""
