//! Turning YAML and validation errors into file:line:column messages, and unknown keys into
//! warnings that name the nearest known key.
