//! Path confinement: resolves a path the model gave against the working directory and refuses
//! anything that ends up outside it after `..` and symlinks are resolved.
