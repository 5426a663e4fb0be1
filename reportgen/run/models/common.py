"""Building blocks shared by every model family: activations and weight initialisation."""
from __future__ import annotations

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU, "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid, "softsign": nn.Softsign, "elu": nn.ELU, "selu": nn.SELU,
}


def activation(name: str) -> nn.Module:
    return ACTIVATIONS[name]()


def init_weights(model: nn.Module, scheme: str) -> nn.Module:
    """Re-initialise conv and linear weights (biases to 0) unless ``scheme == "default"``.

    Schemes: ``xavier_uniform`` (Glorot & Bengio 2010), ``kaiming_normal`` (He et al. 2015, fan_in,
    ReLU gain), ``normal_0.01`` (N(0, 0.01²), the classic small-random init). ``default`` keeps
    PyTorch's (Kaiming-uniform with a=√5).
    """
    if scheme == "default":
        return model
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            if scheme == "xavier_uniform":
                nn.init.xavier_uniform_(m.weight)
            elif scheme == "kaiming_normal":
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            elif scheme == "normal_0.01":
                nn.init.normal_(m.weight, 0.0, 0.01)
            else:
                raise ValueError(f"unknown init scheme {scheme!r}")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def dense_stack(n_in: int, hidden: tuple[int, ...], act: str, dropout: float, classes: int = 10) -> list[nn.Module]:
    """[Linear → activation → (Dropout)] per hidden width, then Linear(…, classes)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), activation(act)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        n_in = width
    layers.append(nn.Linear(n_in, classes))
    return layers
