"""The MNIST data: checked download and the in-memory tensors every run trains on."""
