"""What listeners and their apps receive besides the sound: metadata, notes, tags and the feed.

Owns an episode's metadata file (`episode`), the research library (`research`), show notes with
their citations (`shownotes`), the MP3's ID3 tags and header (`id3`), the RSS feed (`feed`), the
listeners' web site beside it (`site`, with its templates), the offline compliance report over
everything published (`check`) and its online part (`online`), and the upload of ``feed/`` to the
show's host (`upload`, through the one place that runs rclone, `rclone_tool`).

May import: `rkaudio.core`, `rkaudio.show`, `rkaudio.audio` (to measure), `rkaudio.transcripts`.
"""
