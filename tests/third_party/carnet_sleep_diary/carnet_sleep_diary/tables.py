from piccolo.columns import Date, Integer, Text
from piccolo.table import Table


class Night(Table, tablename="sleep_diary_night"):
    night_of = Date()
    hours = Integer()
    note = Text(default="")
