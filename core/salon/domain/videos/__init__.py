"""The videos context: slideshow videos made from a user's photos by the ``video`` job.

The core validates the request, records a :class:`~salon.db.models.Video` and a job; a plugin's
job handler (``salon-ffmpeg-video``) renders the MP4 into storage. The video's status mirrors its
job, and the row is finalized from the job's result the first time it is read after success.
"""
