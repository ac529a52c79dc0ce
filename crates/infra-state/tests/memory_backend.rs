//! The shared conformance suite against the in-memory backend.

use infra_state::MemoryBackend;
use infra_state::conformance::Fixture;

infra_state::backend_conformance_tests!(async { Fixture::new(MemoryBackend::new()) });
