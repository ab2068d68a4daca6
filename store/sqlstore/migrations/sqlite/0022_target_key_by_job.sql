-- An anchor's target_key keeps to a range of its job's (targetKey): every
-- anchor is keyed anew, in Go (keyTargets), from 0.
UPDATE anchors SET target_key = 0;
