//! The notifier role: follows the stored health changes, turns them into incidents and deliveries
//! (one store transaction per turn), and works the delivery queue, sending each notification to
//! its receiver and retrying until it is delivered or given up.

pub mod send;
