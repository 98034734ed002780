//! A field that is absent for some objects and may be null for others (`Option<Option<T>>`): serde
//! reads a present null as the outer `None`, which would lose the difference, so a present field,
//! null or not, is read here as `Some`.

use serde::{Deserialize, Deserializer};

pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
