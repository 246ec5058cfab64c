//! The demo world (see `events/auto-tagger/README.md`): seeded by the demo and the end-to-end tests.
