"""Pure order logic: no I/O, nothing imported from adapters/, dex/ or functions/."""
