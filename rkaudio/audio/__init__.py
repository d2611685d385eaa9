"""Sound: everything that decodes, measures, filters or encodes audio.

Owns the one place that runs ffmpeg (`ffmpeg_tool`), loudness measurement (`loudness`), checks on
a recording that ffmpeg does not make (`inputs`), the finishing filter graph (`assembly`), where
each part sits in the finished episode (`timeline`), the synthesised stings (`stings`), and the
audio step of ``process`` (`finishing`): measure, calibrate, render and check the MP3.

May import: `rkaudio.core`, `rkaudio.show`.
"""
