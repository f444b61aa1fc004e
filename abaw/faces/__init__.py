"""Faces from raw video: detector registry, alignment, tracking and crop trees.

`abaw faces extract VIDEOS_OR_ROOT --out DIR` writes, for every video:

    DIR/<id>/<NNNNN>.jpg       one folder per annotation id, laid out exactly like an organiser's
                               `cropped_aligned/` folder: 112x112 aligned crops (by default), named
                               by `protocol.frame_name`, decoded frame i (0-based, PyAV order)
                               -> NNNNN = i + 1, the annotation line / template row convention.
                               A frame whose face was not found has no file (never a blank or a
                               neighbour's crop), as in the organisers' release.
    DIR/<stem>.faces.csv       the face table of the raw video <stem>: every decoded frame, with
                               its time, every face found (box, 5 landmarks or NaN, score, track)
                               and which id's crop it became (`abaw.faces.output.COLUMNS`).
    DIR/<stem>.faces.json      the summary, written last (its presence marks the video done):
                               detector and weights, crop size and scales, a box-only
                               detector's crop framing (`box_framing`), and per id the track
                               it took, the rule that chose it, its crop count and missed frames.

So DIR can be read as a crop folder as it is (only its sub-folders are crop folders; the files
beside them are the tables), and `output.read_table` / `output.read_summary` give the rest.
Extra scales (`--scale`) go to sibling trees `DIR-x<scale>` of the same layout.

Modules: `registry` (detectors and their weights), `detector` (the interface), `retinaface` and
`haar` (the detectors), `align` (templates and transforms), `framing` (box crops framed like a
dataset's own crops), `track` (linking, who is who),
`frames` (decoding in workers), `output` (files), `extract` (the whole step).
"""
