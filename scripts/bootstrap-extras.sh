#!/usr/bin/env bash
# Prerequisites beyond the Python workspace (later issues add theirs here): each step says what it
# does, is skipped when already satisfied, and under CI=true a failure fails the run.
set -euo pipefail

# --- web UI browser tests (issue 8): Debian's chromium, driven by Playwright (never `playwright
# install`: the browser comes from the distribution, so no download from a CDN is needed).
# `make demo` alone needs no browser: skip the download there so the demo starts quickly.
if [ "${LLMOBS_MAKE_GOALS:-}" = "demo" ]; then
	: # the demo's UI is opened in the user's own browser
elif [ ! -x /usr/bin/chromium ]; then
	echo "installing Debian's chromium for the browser tests (apt-get install -y chromium)"
	if ! { command -v apt-get >/dev/null 2>&1 &&
		{ [ "$(id -u)" = 0 ] && SUDO="" || SUDO="sudo -n"; } &&
		$SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
		{ $SUDO apt-get update >/dev/null 2>&1 &&
			$SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; }; }; then
		echo "could not install chromium: the browser tests will skip (apt-get install -y chromium)" >&2
		if [ "${CI:-}" = "true" ]; then exit 1; fi
	fi
fi
exit 0
