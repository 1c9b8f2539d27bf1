"""The PIN-locked staff admin panel. Widgets only: every read and change goes through
services on the backend thread."""
