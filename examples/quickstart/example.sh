#!/bin/sh
# The Quick Start script of the original README.
echo '{"message": "hello world"}'
sleep 1
echo '{"message": "goodbye"}'
sleep 1
