use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::time::Instant;

/// When each stream next needs attention: a heap with lazy deletion (an
/// entry counts only while it matches the key's current deadline).
#[derive(Debug)]
pub(crate) struct Schedule<K> {
    heap: BinaryHeap<Reverse<(Instant, K)>>,
    at: HashMap<K, Instant>,
}

impl<K: Copy + Eq + Hash + Ord> Schedule<K> {
    pub(crate) fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            at: HashMap::new(),
        }
    }

    pub(crate) fn set(&mut self, key: K, at: Instant) {
        if self.at.insert(key, at) != Some(at) {
            self.heap.push(Reverse((at, key)));
        }
    }

    pub(crate) fn remove(&mut self, key: K) {
        self.at.remove(&key);
    }

    fn is_current(&self, at: Instant, key: &K) -> bool {
        self.at.get(key) == Some(&at)
    }

    /// The earliest current deadline.
    pub(crate) fn next(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, key))) = self.heap.peek() {
            if self.is_current(*at, key) {
                return Some(*at);
            }
            self.heap.pop();
        }
        None
    }

    /// Takes one key whose deadline is at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<K> {
        loop {
            let Reverse((at, key)) = *self.heap.peek()?;
            if at > now && self.is_current(at, &key) {
                return None;
            }
            self.heap.pop();
            if self.is_current(at, &key) {
                self.at.remove(&key);
                return Some(key);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.at.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn only_current_deadlines_fire() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        let mut s = Schedule::new();
        s.set(1, t + ms(10));
        s.set(2, t + ms(5));
        s.set(1, t + ms(3)); // moved earlier
        s.set(3, t + ms(1));
        s.remove(3);
        assert_eq!(s.next(), Some(t + ms(3)));
        assert_eq!(s.pop_due(t + ms(4)), Some(1));
        assert_eq!(s.pop_due(t + ms(4)), None);
        assert_eq!(s.pop_due(t + ms(20)), Some(2));
        assert_eq!(
            s.pop_due(t + ms(20)),
            None,
            "the stale 10 ms entry of key 1 is gone"
        );
        assert_eq!((s.next(), s.len()), (None, 0));
    }
}
