//! Server-sent events over a reqwest response, shared by the HTTP dialects.
