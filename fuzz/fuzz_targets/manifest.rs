#![no_main]

// bayou reads manifests behind a guard that turns a panic of the Avro reader underneath into
// an error (see `parse_manifest`): a panic it catches is not a crash, so this target leaves
// panics to the default hook; one that escapes still aborts (libFuzzer reports it).
libfuzzer_sys::fuzz_target!(
    init: {
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        bayou_lake::fuzzing::manifest(data);
    }
);
