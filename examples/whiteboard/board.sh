#!/bin/sh
# The backend of the whiteboard example. Each stroke that a page sends comes
# back, as it came, to every page of the room; the server's --cache keeps
# them and replays them to whoever opens the board later.
exec cat
