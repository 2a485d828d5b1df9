"""A run folder: its layout, lock and files (:mod:`.folder`) and its checkpoints
(:mod:`.checkpoint`). Reading a run (its spec, weights and data record) sits here, before the
backends and training, so that export, prediction and generation reuse one reader."""
