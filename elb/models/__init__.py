"""Model registry, loading (GGUF / local / hub -> TransformerBridge), device and layer conventions."""
