//! NATS bus (to be written).
