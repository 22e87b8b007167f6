//! Configuration: TOML schema, cloud provider profiles and the `bgpd check` rules.
