"""Pure order logic: no I/O, nothing imported from store/ or functions/."""
