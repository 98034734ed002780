//! In-process bus (to be written).
