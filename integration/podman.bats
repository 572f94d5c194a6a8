#!/usr/bin/env bats
# podman drives the runtime: `podman --runtime <RUNTIME> run --rm IMAGE echo
# hello` with an image built locally (no registry), podman's storage and
# runroot private to the test (the host's podman state is untouched), and the
# containers.conf settings this host needs (ENGINES.md G1, G2, G13, G14).

load helpers
source "$BATS_TEST_DIRNAME/lib/ociimage.sh"

source "$BATS_TEST_DIRNAME/lib/podman.bash"

@test "podman run --rm IMAGE echo hello" {
	load_image
	run pm run --rm --network none "$IMAGE" echo hello
	assert_success
	assert_output hello
}

@test "podman run propagates the exit code and runs a shell pipeline" {
	load_image
	run pm run --rm --network none "$IMAGE" sh -c 'echo a | tr a b; exit 7'
	assert_failure 7
	assert_output b
}

@test "podman run -t (terminal through the console socket)" {
	load_image
	run pm run --rm -t --network none "$IMAGE" sh -c 'test -t 1 && echo tty-ok'
	assert_success
	assert_output_contains tty-ok
}

@test "podman run -d, stop, rm (kill by number, delete --force)" {
	load_image
	cid=$(pm run -d --network none "$IMAGE" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done')
	run pm inspect -f '{{.State.Status}}' "$cid"
	assert_output running
	pm stop -t 5 "$cid"
	run pm inspect -f '{{.State.ExitCode}}' "$cid"
	assert_output 0
	pm rm "$cid"
}

@test "podman reports a missing executable with exit 127" {
	load_image
	run -127 pm run --rm --network none "$IMAGE" /no/such/program
	assert_failure 127
}
