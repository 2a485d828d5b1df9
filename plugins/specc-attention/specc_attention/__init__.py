"""specc-attention: attention layer kinds for specc.

Installed, it provides ``multi_head_attention``, ``positional_encoding`` and
``transformer_encoder`` through the ``specc.layers`` entry points; nothing needs importing.
"""

__version__ = "0.1.0"
