"""Update rules and the derivations that belong to each: gradient descent, momentum (heavy ball,
Nesterov), the adaptive family (SGD, RMSProp, Adam, AdamW), integrators of gradient flow, and the
convention differences between libraries."""
