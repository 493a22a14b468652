# Helpers the test/cli scripts share (sourced): pass/fail lines and the
# status they add up to.
failed=0
fail() {
    echo "FAIL $*"
    failed=1
}
ok() {
    echo "ok   $*"
}
