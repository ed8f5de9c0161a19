#!/bin/sh
# Writes output that each splitting mode cuts differently.
printf 'one\r\ntwo\nthree;four,five\0six\n'
printf 'bad \377 utf8\n'
printf 'tail without newline'
