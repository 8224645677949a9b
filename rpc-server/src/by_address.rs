//! Maps keyed by the addresses of `&'static` names (a method's, a transport's): read on every
//! call, written once per key, and as large as the API times a handful at most.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, PoisonError, RwLock};

/// Values by key, each made on its key's first use and shared from then on.
pub(crate) struct ByAddress<K, V> {
    map: RwLock<HashMap<K, Arc<V>, BuildHasherDefault<AddressHasher>>>,
}

impl<K, V> Default for ByAddress<K, V> {
    fn default() -> Self {
        ByAddress {
            map: RwLock::default(),
        }
    }
}

impl<K: Hash + Eq, V> ByAddress<K, V> {
    /// The value of `key`, made with `make` if it has none yet.
    pub(crate) fn get_or_make(&self, key: K, make: impl FnOnce() -> V) -> Arc<V> {
        // A poisoned lock only means a panic while inserting: the map is whole.
        if let Some(value) = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return value.clone();
        }
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_insert_with(|| Arc::new(make()))
            .clone()
    }
}

/// The address of a `&'static str`: the same name from the same place has the same one.
pub(crate) fn address(name: &'static str) -> usize {
    name.as_ptr() as usize
}

/// Hashes an address: it is unique already, so a multiply spreads it enough.
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
