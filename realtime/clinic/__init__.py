"""`realtime serve`: the therapists' dashboard (Starlette + Jinja2 under uvicorn).

    server     the app: runners, sessions, reports, comparisons, profiles, login
    auth       the login: an scrypt password hash in the data folder, session cookies

Pages are plain HTML and CSS (no JavaScript framework, nothing from a CDN); a session
that is being recorded refreshes itself every few seconds.  URLs and logs carry ids only.
"""
