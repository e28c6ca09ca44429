//! The reliability suites, one binary apart from the behaviour tests: the fault matrix, the
//! concurrent loads and the HA cluster keep the machine busy and keep time budgets, and the
//! trace canaries need a process where no other test's first events race the registration
//! of their `tracing` subscriber; so they run one at a time ([`fixtures::exclusive`]), never
//! beside the behaviour tests.

#[path = "../fixtures/mod.rs"]
mod fixtures;

mod fault_matrix;
mod ha_real;
mod load;
mod soak;
mod tracing_canary;
