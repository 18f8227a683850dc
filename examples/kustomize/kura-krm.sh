#!/bin/sh
# kustomize runs an exec function with no arguments: this runs kura's.
exec kura krm
