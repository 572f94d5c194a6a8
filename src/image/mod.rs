//! OCI images for imgtool (placeholder: filled in by the imgtool work).
