//! Placeholder: the daemon arrives with its issue.
