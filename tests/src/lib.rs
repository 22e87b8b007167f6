//! Cross-crate and interop scenarios live in this crate's tests/ directory.
