from .module import TesseraModule
