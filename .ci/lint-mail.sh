#!/usr/bin/env bash
# The mail lint: the shipped templates rendered through the real product (`templates check --lint`:
# a digest, a personal digest with why-lines and "More papers", a digest with no papers, the
# confirmation mail) against caniemail's data for Gmail, Outlook, Apple Mail and Yahoo and against
# html-validate's accessibility rules; accepted findings are in templates/lint-exceptions.txt.
# The two npm packages are installed from lint/package-lock.json into lint/node_modules (ignored
# by git); the npm registry is the only network this uses.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --prefix lint --no-audit --no-fund --loglevel=error
# Release: the build .ci/run has already made for the benchmark (so this costs seconds, not a build).
dotnet run -c Release --project src/Newsletter -- templates check --lint --lint-modules lint/node_modules
