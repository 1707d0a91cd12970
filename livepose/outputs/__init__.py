"""Where results go: JSON lines now; OSC, WebSocket and LSL streaming later."""
