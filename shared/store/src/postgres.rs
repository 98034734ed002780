//! Postgres store (to be written).
