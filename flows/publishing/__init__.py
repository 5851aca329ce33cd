"""Publishing: releases, their changelog, card, overview page, formats, diff, upload and check."""
