#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bayou_lake::fuzzing::manifest(data);
});
