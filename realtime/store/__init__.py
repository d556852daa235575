"""The therapist's side: where runners, profiles and sessions are kept.

    home       the user data folder ($REALTIME_HOME): profiles/, sessions/, realtime.db
    db         the SQLite session store (runners, sessions, steps, cues)
    recorder   a session's rows into the store as they happen (its own thread)
    profiles   runner profiles: created from an example, confirmed targets saved
    sessiondata  one session's steps, cues and settings, from the store or a folder
"""
