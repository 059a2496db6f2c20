//! The file format: serde structs that mirror `config.yaml` key for key.
